"""The browser console: the agents' queues and ticket page, the manager's dashboard."""
