"""The Chalice app: the authorizer, the blueprints, the middleware. Nothing else."""

from chalice import Chalice

from chalicelib import auth, http
from chalicelib.routes import movies, service, users

app = Chalice(app_name="movie-listing-api")
app.register_middleware(http.middleware, "http")
app.register_blueprint(auth.bp)
app.register_blueprint(service.bp)
app.register_blueprint(users.bp)
app.register_blueprint(movies.bp)
