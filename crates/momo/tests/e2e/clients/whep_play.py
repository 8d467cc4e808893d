"""A WHEP player on aiortc, for momo's end-to-end tests.

Usage: whep_play.py URL FRAMES TIMEOUT_S [ICE_SERVERS_JSON [relay]]

Offers to receive video and audio at URL, plays until FRAMES video frames were
decoded or TIMEOUT_S passed, ends the session with DELETE, and prints one JSON line:
{"status": POST status, "frames": decoded video frames, "width": …, "height": …,
 "first_frame_s": seconds from the POST to the first decoded frame,
 "audio_frames": decoded audio frames, "audio_peak": loudest sample (0 is silence),
 "deleted": status}.

ICE_SERVERS_JSON is momo's `ice_servers` list (GET /api/v1/webrtc/ice-servers); with
`relay`, only relayed candidates are used (iceTransportPolicy "relay"), so the media
must go through the TURN server.
"""

import array
import asyncio
import json
import sys
import time
import urllib.parse

from aiortc import (RTCConfiguration, RTCIceServer, RTCPeerConnection,
                    RTCSessionDescription)
from aiortc.rtcconfiguration import RTCIceTransportPolicy

from webrtc_http import http


def configuration(ice_json, relay):
    servers = [RTCIceServer(urls=s["urls"], username=s.get("username"),
                            credential=s.get("credential"))
               for s in json.loads(ice_json)]
    policy = RTCIceTransportPolicy.RELAY if relay else RTCIceTransportPolicy.ALL
    return RTCConfiguration(iceServers=servers, iceTransportPolicy=policy)


async def read_audio(track, result):
    while True:
        try:
            frame = await track.recv()
        except Exception:
            return
        result["audio_frames"] += 1
        samples = array.array("h", bytes(frame.planes[0])[: frame.samples * 2 * len(frame.layout.channels)])
        if samples:
            result["audio_peak"] = max(result["audio_peak"], max(abs(x) for x in samples))


async def main(url, want, timeout, ice_json=None, relay=False):
    pc = RTCPeerConnection(configuration(ice_json, relay) if ice_json else None)
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    result = {"status": None, "frames": 0, "width": None, "height": None,
              "first_frame_s": None, "audio_frames": 0, "audio_peak": 0, "deleted": None}
    done = asyncio.Event()
    started = time.monotonic()

    @pc.on("track")
    def on_track(track):
        if track.kind == "audio":
            asyncio.ensure_future(read_audio(track, result))
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
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]),
                     sys.argv[4] if len(sys.argv) > 4 else None,
                     len(sys.argv) > 5 and sys.argv[5] == "relay"))
