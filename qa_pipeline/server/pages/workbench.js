// QA workbench: place the timeline, seek the recording from markers, transcript and findings.
"use strict";

function placeTimeline() {
  for (const el of document.querySelectorAll("#timeline [data-l]")) {
    el.style.left = el.dataset.l + "%";
    if (el.dataset.w !== undefined) el.style.width = el.dataset.w + "%";
  }
}

function seek(seconds) {
  const audio = document.getElementById("audio");
  if (!audio) return;
  const go = () => { audio.currentTime = seconds; audio.play().catch(() => {}); };
  if (audio.readyState >= 1) go(); else audio.addEventListener("loadedmetadata", go, { once: true });
}

function followPlayback() {
  const audio = document.getElementById("audio");
  const timeline = document.getElementById("timeline");
  const head = document.getElementById("playhead");
  if (!audio || !timeline || !head) return;
  const duration = parseFloat(timeline.dataset.duration) || 1;
  const utterances = Array.from(document.querySelectorAll("#transcript .utt"));
  audio.addEventListener("timeupdate", () => {
    const lane = timeline.querySelector(".lane");
    head.style.left = (lane.clientWidth * Math.min(1, audio.currentTime / duration)) + "px";
    for (const u of utterances) {
      const next = u.nextElementSibling;
      const start = parseFloat(u.dataset.seek);
      const end = next && next.dataset.seek ? parseFloat(next.dataset.seek) : Infinity;
      u.classList.toggle("playing", audio.currentTime >= start && audio.currentTime < end);
    }
  });
}

document.addEventListener("click", (event) => {
  const target = event.target.closest("[data-seek]");
  if (!target || event.target.closest("form")) return;
  seek(parseFloat(target.dataset.seek));
  const finding = target.closest("[data-finding]");
  if (finding) {
    for (const mark of document.querySelectorAll("mark.evidence")) {
      mark.classList.toggle("focus", mark.dataset.finding === finding.dataset.finding);
    }
  }
});

document.addEventListener("DOMContentLoaded", () => {
  placeTimeline();
  followPlayback();
  const at = document.getElementById("add-at");
  const audio = document.getElementById("audio");
  if (at && audio) audio.addEventListener("pause", () => { at.value = audio.currentTime.toFixed(1); });
});
