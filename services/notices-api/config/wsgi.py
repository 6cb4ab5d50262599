from django.core.wsgi import get_wsgi_application

from config.serving import load_application

application = load_application(get_wsgi_application)
