"""A WHEP player on aiortc, for momo's end-to-end tests.

Usage: whep_play.py URL FRAMES TIMEOUT_S

Offers to receive video (and audio) at URL, plays until FRAMES video frames were
decoded or TIMEOUT_S passed, ends the session with DELETE, and prints one JSON line:
{"status": POST status, "frames": decoded video frames, "width": …, "height": …,
 "first_frame_s": seconds from the POST to the first decoded frame, "deleted": status}.
"""

import asyncio
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from aiortc import RTCPeerConnection, RTCSessionDescription


def http(method, url, body=None, content_type=None):
    req = urllib.request.Request(url, data=body, method=method)
    if content_type:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, dict(res.headers), res.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


async def main(url, want, timeout):
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    result = {"status": None, "frames": 0, "width": None, "height": None,
              "first_frame_s": None, "deleted": None}
    done = asyncio.Event()
    started = time.monotonic()

    @pc.on("track")
    def on_track(track):
        if track.kind != "video":
            return

        async def read():
            while result["frames"] < want:
                try:
                    frame = await track.recv()
                except Exception:
                    break
                if result["frames"] == 0:
                    result["first_frame_s"] = round(time.monotonic() - started, 3)
                result["frames"] += 1
                result["width"], result["height"] = frame.width, frame.height
            done.set()

        asyncio.ensure_future(read())

    await pc.setLocalDescription(await pc.createOffer())
    started = time.monotonic()
    status, headers, answer = await asyncio.get_event_loop().run_in_executor(
        None, http, "POST", url, pc.localDescription.sdp.encode(), "application/sdp")
    result["status"] = status
    if status == 201:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        try:
            await asyncio.wait_for(done.wait(), timeout)
        except asyncio.TimeoutError:
            pass
        location = headers.get("Location") or headers.get("location")
        if location:
            target = urllib.parse.urljoin(url, location)
            result["deleted"] = (await asyncio.get_event_loop().run_in_executor(
                None, http, "DELETE", target))[0]
    else:
        result["error"] = answer
    await pc.close()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
