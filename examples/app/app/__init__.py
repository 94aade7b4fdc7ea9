"""Example service deployed by fleet's playbooks."""
