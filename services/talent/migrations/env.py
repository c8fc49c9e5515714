from services.common.migrate import run_migrations
from services.talent.models import Base

run_migrations(Base.metadata)
