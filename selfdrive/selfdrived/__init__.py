"""selfdrived: decides engagement (the state machine), raises events and shows alerts."""
