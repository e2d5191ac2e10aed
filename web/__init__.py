"""The web shell both apps share: problem+json errors, the JSON API kit, templates and translations."""
