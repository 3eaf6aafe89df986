# termserver: FHIR terminology server. Build: docker build -t termserver .
# Run:  docker run -p 8080:8080 -v ts-data:/data termserver
# Load: docker run -v ts-data:/data -v $PWD:/in termserver termserver load /in/some-package.tgz
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY termserver termserver
COPY loaders loaders
COPY mappings mappings
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 termserver && mkdir /data && chown termserver /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY demo /opt/termserver/demo
USER termserver
ENV TERMSERVER_DB=sqlite:////data/termserver.db
VOLUME /data
EXPOSE 8080
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/fhir/metadata')"
CMD ["termserver", "serve", "--host", "0.0.0.0", "--port", "8080", "--demo-dir", "/opt/termserver/demo"]
