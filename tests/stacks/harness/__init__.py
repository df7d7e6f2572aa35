"""Launchers, clients and parsers shared by the real-stack and browser suites."""
