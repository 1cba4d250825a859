"""End to end over the Slack wire: signed requests into the running bot (Bolt on waitress, or Socket
Mode), every Web API call recorded by the stand-ins in tests/standins/."""
