"""The local web app (``wuzhong-geo serve``): drop a file for the site check, ask a place, download.

``server`` holds the HTTP side (Starlette), ``pipeline`` the one adapter to the CLI's functions,
``sessions`` the private per-browser folders, ``limits`` the upload limits, ``serve`` the uvicorn
runner, and ``static/`` the page (plain HTML, JS and CSS; Leaflet comes from folium-offline).
"""
