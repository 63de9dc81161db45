"""Unit tests of the musicians area: availability, requests, the week index."""
