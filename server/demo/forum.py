"""Demo forum: the demo cooperatives' fishers bring problems and answer each other.

Threads go through the forum's own services (server.forum), so the demo shows what a
user gets: replies, useful votes, accepted solutions, a cooperative-only thread, a
point on the map, a flag waiting for the moderators, and notifications.
"""

from __future__ import annotations

import uuid
from typing import Any

from shapely.geometry import Point
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from tqdm import tqdm

from server.db import new_id
from server.demo.generator import DEMO_PREFIX
from server.forum import moderation, threads
from server.members.auth import Principal
from server.members.models import Member, Membership, MembershipStatus, Organization, Role

# (category, title, body, species, place (lon, lat) or None, cooperative-only, replies,
#  index of the accepted reply or None)
THREADS: list[tuple[str, str, str, list[str], tuple[float, float] | None, bool, list[str],
                    int | None]] = [
    ("gear_boats", "Se descompuso la máquina de hielo del muelle",
     "Desde el lunes la máquina de hielo no enfría y perdimos dos cargas de **pargo**. "
     "¿Alguien conoce un técnico de refrigeración en el puerto?", [], (-106.4197, 23.1848),
     False, ["Nos pasó igual el año pasado: era el gas refrigerante.",
             "Don Chuy, el técnico de la planta, la arregló en un día. Le paso su teléfono por "
             "mensaje.", "Mientras tanto, en la congeladora de la cooperativa hay lugar."], 1),
    ("regulations_permits", "¿Cuándo empieza la veda de camarón este año?",
     "Escuché que la veda se adelanta. ¿Alguien vio el aviso oficial en el Diario Oficial?",
     ["PNV"], None, False,
     ["El acuerdo salió publicado: empieza el 15 de marzo en el Pacífico.",
      "Ojo, en los esteros las fechas son otras."], 0),
    ("sea_weather", "Redes fantasma frente a la isla",
     "Encontramos una red agallera abandonada a unas dos millas, llena de peces muertos. "
     "Marco el punto en el mapa.", [], (-106.49, 23.17), False,
     ["Hay que avisar a la capitanía de puerto y a la CONAPESCA.",
      "El sábado podemos salir tres lanchas a sacarla."], None),
    ("markets_prices", "Precio del huachinango en diciembre",
     "¿A cuánto les están pagando el kilo de huachinango entero? Aquí ofrecen 95 pesos.",
     ["LWP"], None, False,
     ["En el mercado de Mazatlán se vende a 140 al público.",
      "Con el marketplace vendimos directo a un restaurante a 120."], 1),
    ("safety", "Chalecos salvavidas para todos los socios",
     "Propongo que la cooperativa compre chalecos nuevos antes de la temporada de huracanes.",
     [], None, True, ["De acuerdo, que se vote en la asamblea.",
                      "Hay apoyo del programa estatal de seguridad en el mar."], None),
    ("ideas", "Vender juntos el pulpo a mejor precio",
     "Si juntamos el pulpo de varias lanchas podemos ofrecer lotes más grandes a los "
     "compradores de Ensenada.", ["OCZ"], None, True,
     ["Podemos usar la báscula de la cooperativa para los lotes."], None),
    ("gear_boats", "El motor fuera de borda no arranca después de la lluvia",
     "Cambié la bujía y sigue igual. ¿Qué más reviso?", [], None, False,
     ["Revise el filtro de gasolina y que no haya agua en el tanque.",
      "Eso era: tenía agua en la gasolina. ¡Gracias!"], 0),
]
FLAGGED = "Vendo permisos de pesca sin trámite, contacto por privado."


def _principal(sess: Session, member_id: uuid.UUID) -> Principal:
    roles = {org: role for org, role in sess.execute(select(Membership.org_id, Membership.role)
                                                     .where(Membership.member_id == member_id,
                                                            Membership.status ==
                                                            MembershipStatus.active))}
    return Principal(member_id, new_id(), False, roles)


def already_loaded(sess: Session, org_id: uuid.UUID) -> bool:
    """Whether this cooperative's members already wrote the demo threads."""
    return bool(sess.scalar(text(
        "SELECT EXISTS (SELECT 1 FROM forum_thread t JOIN membership m "
        "ON m.member_id = t.author_id WHERE m.org_id = :o AND t.title = :title)"),
        {"o": org_id, "title": THREADS[0][1]}))


def load(sess: Session, org_id: uuid.UUID | None = None) -> dict[str, int]:
    """The demo threads, written by one demo cooperative's members (by default the first
    by name), once."""
    q = select(Organization).where(Organization.kind == "cooperative")
    q = (q.where(Organization.id == org_id) if org_id is not None
         else q.where(Organization.name.like(DEMO_PREFIX + "%")).order_by(Organization.name))
    coop = sess.scalars(q).first()
    if coop is None or already_loaded(sess, coop.id):
        return {}
    members = list(sess.scalars(select(Member.id).join(
        Membership, Membership.member_id == Member.id).where(
        Membership.org_id == coop.id, Membership.status == MembershipStatus.active,
        Membership.role.in_([Role.fisher, Role.admin])).order_by(Member.phone).limit(8)))
    if len(members) < 4:
        return {}
    people = [_principal(sess, m) for m in members]
    made = {"forum_thread": 0, "forum_post": 0}
    for n, (category, title, body, species, place, own, answers, accepted) in enumerate(
            tqdm(THREADS, desc="demo forum", unit="thread")):
        author = people[n % len(people)]
        data: dict[str, Any] = {
            "category": category, "title": title, "body": body, "format": "markdown",
            "visible_org_id": coop.id if own else None, "species": species, "gear": [],
            "zones": [], "location": Point(*place) if place else None, "mentions": []}
        thread = threads.create(sess, author, data)
        made["forum_thread"] += 1
        made["forum_post"] += 1
        posts = []
        for k, answer in enumerate(answers):
            who = people[(n + k + 1) % len(people)]
            if who.member_id == author.member_id:
                who = people[(n + k + 2) % len(people)]
            posts.append(threads.reply(sess, who, thread.id,
                                       {"body": answer, "format": "plain", "mentions": []}))
            made["forum_post"] += 1
        for k, post in enumerate(posts):
            for voter in people[: 1 + (k + n) % 3]:
                if voter.member_id != post.author_id:
                    threads.vote(sess, voter, post.id, True)
        if accepted is not None:
            threads.accept(sess, author, thread.id, posts[accepted].id)
    # One post for the moderators to look at.
    spam_thread = threads.create(sess, people[-1], {
        "category": "regulations_permits", "title": "Trámite rápido de permisos",
        "body": FLAGGED, "format": "plain", "visible_org_id": coop.id, "species": [],
        "gear": [], "zones": [], "location": None, "mentions": []})
    opening = sess.scalar(text("SELECT id FROM forum_post WHERE thread_id = :t AND opening"),
                          {"t": spam_thread.id})
    moderation.flag(sess, people[0], opening, "illegal", "Parece venta de permisos falsos")
    made["forum_thread"] += 1
    made["forum_post"] += 1
    made["forum_flag"] = 1
    return made
