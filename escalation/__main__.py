from escalation.cli import app

app()
