"""The Tavus API at the edge: an httpx client for faces and voices. Nothing here analyses media."""
