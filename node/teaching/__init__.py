"""Courses, classes, scheduling, leave, make-up, transfers, attendance and kiosks (DOMAIN.md §5)."""
