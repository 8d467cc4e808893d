"""What momo's aiortc test clients share."""

import urllib.error
import urllib.request


def http(method, url, body=None, content_type=None):
    """One HTTP request: (status, headers, body text), errors included."""
    req = urllib.request.Request(url, data=body, method=method)
    if content_type:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, dict(res.headers), res.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()
