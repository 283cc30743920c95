"""Planning and control: plannerd turns the model's outputs into plans, controlsd turns plans into actuator commands."""
