"""Field diagnoses, the site's answers: ALLOWED_HOSTS written wrong (F15), a domain that answers with someone
else's page (F16).
"""

from __future__ import annotations

import html

from deploy_tui.core.diagnoses.base import Rule, evidence, unanswered
from deploy_tui.core.events import Diagnosis
from deploy_tui.core.failure import Facts, Probe, StepFailed
from deploy_tui.core.hosts import HostProblem, env_host_problems, host_problem

RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


def shows_marker(probe: Probe, marker: str) -> bool:
    """The page holds the marker, as written or as a browser shows it (entities decoded, spaces collapsed)."""
    if marker in probe.body:
        return True
    return " ".join(marker.split()) in " ".join(html.unescape(probe.body).split())


def answered_by_another(outside: Probe, inside: Probe | None, marker: str) -> bool:
    """Outside got a page, and it is not the one the server serves itself (or lacks the site's marker)."""
    if not outside.ok:
        return False
    if marker and not shows_marker(outside, marker):
        return True
    # Titles, not bodies: the same page differs from request to request (a CSRF token in its form).
    return inside is not None and inside.ok and (outside.title or inside.title) != "" and outside.title != inside.title


def malformed_hosts(facts: Facts) -> tuple[tuple[str, HostProblem], ...]:
    """(where it is written, problem) for each entry of ALLOWED_HOSTS no request can match."""
    from_toml = tuple(("allowed_hosts", p) for p in map(host_problem, facts.allowed_hosts) if p is not None)
    return from_toml + env_host_problems(facts.env, facts.domain, facts.allowed_hosts)


@rule
def allowed_hosts_written_wrong(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    # Django 5.2's answer with DEBUG on: "DisallowedHost at /" and in the log "Invalid HTTP_HOST header:
    # 'superlists-staging.test:8123'. You may need to add 'superlists-staging.test' to ALLOWED_HOSTS.", even
    # when ALLOWED_HOSTS holds 'superlists-staging.test:8123'; with DEBUG off only "Bad Request (400)".
    if unanswered(failure):
        return None  # an old "Invalid HTTP_HOST" in the log says nothing about a server that is not there
    outside = failure.facts.outside
    refused = (outside is not None and outside.status == 400) or "Invalid HTTP_HOST" in text
    found = malformed_hosts(failure.facts) if refused else ()
    if not found:
        return None  # a well-formed ALLOWED_HOSTS that lacks the domain is D5's
    domain = failure.facts.domain or "the domain"
    where, problem = found[0]
    written = "deploy.toml's allowed_hosts" if where == "allowed_hosts" else f"the site's {where}"
    placeholder = "{domain}" if problem.fixed == failure.facts.domain else problem.fixed
    fix = (
        f'In deploy.toml, [sites.NAME.env] {where} = "{placeholder}"'
        if where != "allowed_hosts"
        else f'In deploy.toml, allowed_hosts = ["{problem.fixed}"]'
    )
    return Diagnosis(
        step=step,
        code="F15",
        cause=f"Django refuses {domain} although ALLOWED_HOSTS seems to name it: {written} gives "
        f"{problem.entry!r}, which {problem.why}, so it never matches.",
        fix=f"{fix}: bare host names, no port, no quotes, no trailing dot (several separated by commas, if your "
        "settings split them); then deploy again, and the dev server restarts with it.",
        evidence=(
            *(f"{name}: {p.entry!r} {p.why}" for name, p in found),
            *evidence(failure, r"Invalid HTTP_HOST|DisallowedHost|ALLOWED_HOSTS| 400 "),
        ),
    )


@rule
def another_site_answers(step: str, failure: StepFailed, text: str) -> Diagnosis | None:
    facts = failure.facts
    outside, inside, marker = facts.outside, facts.inside, facts.marker
    if outside is None or not answered_by_another(outside, inside, marker):
        return None
    port = facts.port or 8000
    address = facts.expected or "the address it was reached at"
    server_page = inside is not None and inside.ok and (not marker or shows_marker(inside, marker))
    got = f"a page titled {outside.title!r}" if outside.title else "a page without a title"
    if not server_page and marker and inside is not None and inside.ok:
        # The server itself serves a page without the marker: not someone else's page, but not the site either.
        return Diagnosis(
            step=step,
            code="F16",
            cause=f"The site answers, but its home page does not contain the page_marker {marker!r}, from outside "
            f"({got}) nor on the server itself: the code deployed is not the site you meant, or the marker is "
            "not on its home page.",
            fix="Check page_marker in deploy.toml against your home page, and that the branch deployed holds "
            "the code you expect (git log origin/BRANCH); then deploy again.",
            evidence=(*_probes(outside, inside), *evidence(failure)),
        )
    whose = f"without the page_marker {marker!r}" if marker and not shows_marker(outside, marker) else ""
    mine = f", while the server itself serves {inside.title!r}" if inside is not None and inside.ok else ""
    return Diagnosis(
        step=step,
        code="F16",
        cause=f"{facts.domain or 'The domain'} answers at {address}:{port}, but not with this site: {got}"
        f"{' ' + whose if whose else ''}{mine}. That is someone else's server, or another web server on yours.",
        fix=f"If {address} is what the domain's A record points at and it is not your server (the one you ssh "
        "to), the record points elsewhere (a registrar's parking page answers until it is changed): set the A "
        f"record to your server's address. If {address} is your server, another web server answers on port "
        f"{port}: find it with sudo ss -ltnp 'sport = :{port}'.",
        evidence=(*_probes(outside, inside), *evidence(failure)),
    )


def _probes(outside: Probe, inside: Probe | None) -> tuple[str, ...]:
    def seen(probe: Probe) -> str:
        return f"{probe.status} {probe.title!r}" if probe.status else probe.error

    return (f"outside: {outside.url} -> {seen(outside)}",) + (
        (f"inside: {inside.url} -> {seen(inside)}",) if inside else ()
    )
