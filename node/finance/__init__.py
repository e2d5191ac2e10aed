"""Students, contracts, payments and the lesson-hour account at a campus (DOMAIN.md §2–4)."""
