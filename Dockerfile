# FOI Archive: the app with Tesseract (English, Simplified and Traditional Chinese), poppler, a
# CJK font, LibreOffice (office files), readpst (Outlook stores), 7z/RAR readers, djvulibre and
# mdbtools. The same image runs the Dask workers of docker-compose.yml (`foi worker`). Search goes to the Elasticsearch service of docker-compose.yml (FOI_SEARCH below);
# run without it by setting FOI_SEARCH=sqlite. The archive lives in the /data volume.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim tesseract-ocr-chi-tra tesseract-ocr-osd \
      poppler-utils fonts-wqy-microhei wbritish curl \
      libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui \
      pst-utils p7zip-full unar libarchive-tools djvulibre-bin mdbtools python3-uno \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Dependencies first (cached while only the code changes), then the code.
COPY pyproject.toml README.md ./
COPY archive ./archive
COPY ocr ./ocr
COPY web ./web
# The `ner` extra brings spaCy's small English model for person/organisation entities.
RUN pip install '.[ner]'

RUN useradd --system --create-home --home-dir /home/foi --shell /usr/sbin/nologin foi \
 && mkdir -p /data \
 && chown foi:foi /data
USER foi

ENV FOI_ARCHIVE=/data \
    FOI_SEARCH=elasticsearch \
    FOI_ELASTICSEARCH_URL=http://elasticsearch:9200 \
    FOI_ELASTICSEARCH_INDEX=foi \
    OMP_THREAD_LIMIT=1
VOLUME ["/data"]
EXPOSE 5000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:5000/ >/dev/null || exit 1

CMD ["foi", "serve", "--host", "0.0.0.0", "--port", "5000", "--workers", "2", "--trusted-network"]
