"""Entry for Tortoise's own CLI (`tortoise makemigrations`), configured from the environment."""

from contato.settings import Settings
from models import tortoise_config

TORTOISE_ORM = tortoise_config(Settings.from_env().effective_database_url)
