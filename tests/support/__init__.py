"""Helpers the tests share: the steps a real person takes, through the services or the pages."""
