from services.common.migrate import run_migrations
from services.intake.models import Base

run_migrations(Base.metadata)
