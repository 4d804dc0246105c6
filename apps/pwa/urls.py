"""The driver app (a PWA) on each brand's own hosts, under /app/."""

app_name = "pwa"

urlpatterns: list = []
