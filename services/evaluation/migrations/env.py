from services.common.migrate import run_migrations
from services.evaluation.models import Base

run_migrations(Base.metadata)
