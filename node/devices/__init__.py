"""Attendance terminals (face, fingerprint and card clocks) speaking ZKTeco's PUSH protocol
(ADMS, "iclock") to the campus node over the LAN: registered, never trusted; their punches become
attendance marks as a kiosk's check-ins do; the campus's people kept on them by PIN."""
