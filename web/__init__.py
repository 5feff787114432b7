"""The HTTP API: one aiohttp application over the domains' views, with authentication in front of them."""
