"""The reference point: a bare FastAPI app with one endpoint returning a constant JSON body,
served by uvicorn exactly as `termserver serve` serves the real app (one worker, same call)."""

from __future__ import annotations

import argparse

from fastapi import FastAPI

app = FastAPI()

BODY: dict[str, object] = {"resourceType": "Parameters",
                           "parameter": [{"name": "result", "valueBoolean": True}]}


@app.get("/constant")
async def constant() -> dict[str, object]:
    return BODY


if __name__ == "__main__":
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8199)
    args = parser.parse_args()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
