"""The staff's home: a workbench (首页工作台) per role, and the pages that take the node's technical
state, the reminders and the merge conflicts off it."""
