"""Live listen / whisper / barge: supervisors monitor calls in progress through ChanSpy."""
