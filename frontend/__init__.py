"""The web dashboard: templates, static assets and page views."""
