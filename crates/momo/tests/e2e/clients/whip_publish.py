"""A WHIP publisher on aiortc, for momo's end-to-end tests.

Usage: whip_publish.py URL FILE SECONDS

Offers to send FILE's video (as H.264) and audio (as Opus, aiortc's encoders) at URL,
publishes for SECONDS (FILE should last as long), ends the session with DELETE, and prints one
JSON line: {"status": POST status, "connected": whether ICE/DTLS came up,
"deleted": status, "error": the refusal's body, if any}.
"""

import asyncio
import json
import sys
import urllib.parse

from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer

from webrtc_http import http


async def main(url, path, seconds):
    pc = RTCPeerConnection()
    player = MediaPlayer(path)
    result = {"status": None, "connected": False, "deleted": None}
    connected = asyncio.Event()

    @pc.on("connectionstatechange")
    def on_state():
        if pc.connectionState == "connected":
            result["connected"] = True
            connected.set()

    video = pc.addTransceiver(player.video, direction="sendonly")
    h264 = [c for c in RTCRtpSender.getCapabilities("video").codecs
            if c.mimeType in ("video/H264", "video/rtx")]
    video.setCodecPreferences(h264)
    pc.addTransceiver(player.audio, direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    loop = asyncio.get_event_loop()
    status, headers, answer = await loop.run_in_executor(
        None, http, "POST", url, pc.localDescription.sdp.encode(), "application/sdp")
    result["status"] = status
    if status == 201:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        try:
            await asyncio.wait_for(connected.wait(), 15)
            await asyncio.sleep(seconds)
        except asyncio.TimeoutError:
            pass
        location = headers.get("Location") or headers.get("location")
        if location:
            target = urllib.parse.urljoin(url, location)
            result["deleted"] = (await loop.run_in_executor(None, http, "DELETE", target))[0]
    else:
        result["error"] = answer
    await pc.close()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
