"""Pay plans (提成方案) as data: kept at the hub, or by a campus with none; read by payroll everywhere."""
