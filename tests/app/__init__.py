"""The application shell: the CLI, and the layers' import rule checked on the source."""
