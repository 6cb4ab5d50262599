from django.core.asgi import get_asgi_application

from config.serving import load_application

application = load_application(get_asgi_application)
