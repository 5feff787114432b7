"""The supervisors' console and the public portal: server-rendered pages over the same queries and scopes as the API."""
