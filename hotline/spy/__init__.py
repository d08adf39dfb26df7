"""Listen, whisper and barge: a supervisor's phone joins a seat's call through ChanSpy."""
