"""`localpilot can`: read recorded CAN logs through the car adapter."""
