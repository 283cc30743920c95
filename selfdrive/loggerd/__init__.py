"""loggerd: every logged message and the road camera, recorded into routes of 60 s segments."""
