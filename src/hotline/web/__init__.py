"""Server-rendered web consoles (Jinja2 + htmx + small ES modules): agent desktop,
supervisor wallboard, admin and QA consoles. Built on ``hotline.api``.
"""
