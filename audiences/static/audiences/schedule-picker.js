// The audience form's schedule picker: shows the inputs the picked schedule needs (weekday,
// day of month, time, or the cron box under Advanced) and hides the rule and schedule sections
// for list audiences. Without JavaScript every input shows and the server ignores the unused ones.
"use strict";
(function () {
  const NEEDS = {
    never: [],
    daily: ["schedule_time"],
    weekly: ["schedule_weekday", "schedule_time"],
    monthly: ["schedule_day", "schedule_time"],
    advanced: ["refresh_cron"],
  };
  const INPUTS = ["schedule_weekday", "schedule_day", "schedule_time", "refresh_cron"];

  function show(element, visible) {
    element.style.display = visible ? "" : "none"; // admin CSS sets display, which beats [hidden]
  }

  function box(name) {
    const input = document.getElementById(`id_${name}`);
    return input && input.closest(".form-row");
  }

  function showSchedule(picker) {
    const needed = NEEDS[picker.value] || [];
    for (const name of INPUTS) {
      const element = box(name);
      if (element) show(element, needed.includes(name) || Boolean(element.querySelector(".errorlist")));
    }
  }

  function showSections(kind) {
    const isRule = kind.value === "rule";
    for (const selector of [".rule-fieldset", ".schedule-fieldset"]) {
      const section = document.querySelector(selector);
      if (section) show(section, isRule);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const picker = document.getElementById("id_schedule");
    if (picker) {
      picker.addEventListener("change", () => showSchedule(picker));
      showSchedule(picker);
    }
    const kind = document.getElementById("id_kind");
    if (kind && kind.tagName === "SELECT") {
      kind.addEventListener("change", () => showSections(kind));
      showSections(kind);
    }
  });
})();
