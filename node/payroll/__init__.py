"""Payroll (工资与提成): staff records, the monthly run per campus, payslips, commissions and clawbacks."""
