"""Reports of one campus (marketing, output, leaderboards, the attendance heatmap, KPI targets on
the dashboard), read from the campus's own store and built by campus.schema.reports."""
