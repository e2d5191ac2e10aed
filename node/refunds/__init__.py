"""Refunds (退费): policies, the calculation shown line by line, request → approval → payout."""
