"""The Chalice app: the authorizer, the stream handler, the blueprints, the middleware."""

from chalice import Chalice

from chalicelib import auth, logs, observability, streams
from chalicelib.http.middleware import middleware
from chalicelib.routes import comments, docs, movies, ratings, service, sessions, users

logs.configure()
observability.init_error_reporting()
app = Chalice(app_name="movie-listing-api")
app.register_middleware(middleware, "http")
app.register_blueprint(auth.bp)
app.register_blueprint(streams.bp)
app.register_blueprint(service.bp)
app.register_blueprint(users.bp)
app.register_blueprint(sessions.bp)
app.register_blueprint(movies.bp)
app.register_blueprint(ratings.bp)
app.register_blueprint(comments.bp)
app.register_blueprint(docs.bp)
