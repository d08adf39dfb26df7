"""What the controller's web pages share (the wallboard, the unit portal): one static script."""
