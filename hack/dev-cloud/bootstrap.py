#!/usr/bin/python3
"""Idempotent base objects of hack/dev-cloud, in one process (Debian's openstacksdk).

  bootstrap.py identity   roles, service project and users, catalog, whitehall group/user
  bootstrap.py resources  flavors, the cirros image, the external network "public"

Run by up.sh with OS_CLIENT_CONFIG_FILE/OS_CLOUD pointing at the admin cloud. Every
object is looked up first and only created when missing. Plain REST through the SDK's
authenticated adapters keeps it independent of SDK proxy-method differences.
"""
import os
import sys
import time

import openstack

SERVICE_PASSWORD = os.environ.get("DEV_CLOUD_SERVICE_PASSWORD", "devcloud-service")
REGION = "RegionOne"
SERVICE_USERS = ("nova", "placement", "neutron", "cinder", "glance")
CINDER_URL = "http://127.0.0.1:8776/v3/%(project_id)s"
CATALOG = (  # name, type, url
    ("nova", "compute", "http://127.0.0.1:8774/v2.1"),
    ("placement", "placement", "http://127.0.0.1:8778"),
    ("neutron", "network", "http://127.0.0.1:9696"),
    ("glance", "image", "http://127.0.0.1:9292"),
    # gophercloud v2's block storage v3 client looks up "block-storage",
    # openstackclient and older tools "volumev3".
    ("cinderv3", "volumev3", CINDER_URL),
    ("cinder", "block-storage", CINDER_URL),
)
FLAVORS = (  # id, name, ram MiB, vcpus, disk GiB
    ("1", "m1.tiny", 512, 1, 1),
    ("2", "m1.small", 2048, 1, 20),
)


def log(msg):
    print("bootstrap: " + msg, flush=True)


def ok(resp, what):
    if resp.status_code >= 400:
        sys.exit("bootstrap: %s failed: HTTP %s %s" % (what, resp.status_code, resp.text[:500]))
    return resp.json() if resp.content else {}


def identity(conn):
    ks = conn.identity
    get = lambda path, key: ok(ks.get(path, raise_exc=False), "GET " + path)[key]
    post = lambda path, key, body: ok(
        ks.post(path, json={key: body}, raise_exc=False), "POST " + path)[key]

    roles = {r["name"]: r["id"] for r in get("/roles", "roles")}
    for name in ("admin", "member", "reader", "service"):
        if name not in roles:
            roles[name] = post("/roles", "role", {"name": name})["id"]
            log("role %s created" % name)

    projects = get("/projects?domain_id=default&name=service", "projects")
    if projects:
        service_project = projects[0]["id"]
    else:
        service_project = post("/projects", "project", {
            "name": "service", "domain_id": "default",
            "description": "Service project of the dev cloud"})["id"]
        log("project service created")

    users = {u["name"]: u["id"] for u in get("/users?domain_id=default", "users")}
    wanted = {u: SERVICE_PASSWORD for u in SERVICE_USERS}
    wanted["whitehall-auditor"] = "whitehall-auditor"
    for name, password in wanted.items():
        if name not in users:
            users[name] = post("/users", "user", {
                "name": name, "domain_id": "default", "password": password,
                "enabled": True})["id"]
            log("user %s created" % name)

    have = {(a["user"]["id"], a["role"]["id"]) for a in get(
        "/role_assignments?scope.project.id=%s" % service_project, "role_assignments")
        if "user" in a}
    for name in SERVICE_USERS:
        for role in ("admin", "service"):
            if (users[name], roles[role]) not in have:
                path = "/projects/%s/users/%s/roles/%s" % (
                    service_project, users[name], roles[role])
                ok(ks.put(path, raise_exc=False), "PUT " + path)

    if not get("/groups?domain_id=default&name=whitehall-devops", "groups"):
        post("/groups", "group", {"name": "whitehall-devops", "domain_id": "default",
                                  "description": "Sample group for Tenant role bindings"})
        log("group whitehall-devops created")

    services = {s["type"]: s["id"] for s in get("/services", "services")}
    endpoints = {(e["service_id"], e["interface"]): e for e in get("/endpoints", "endpoints")}
    for name, stype, url in CATALOG:
        if stype not in services:
            services[stype] = post("/services", "service", {
                "name": name, "type": stype, "enabled": True})["id"]
            log("service %s (%s) created" % (name, stype))
        for interface in ("public", "internal", "admin"):
            ep = endpoints.get((services[stype], interface))
            if ep is None:
                post("/endpoints", "endpoint", {
                    "service_id": services[stype], "interface": interface,
                    "url": url, "region_id": REGION, "enabled": True})
            elif ep["url"] != url:
                ok(ks.patch("/endpoints/" + ep["id"], json={"endpoint": {"url": url}},
                            raise_exc=False), "PATCH endpoint")
    log("identity objects and catalog in place")


def resources(conn):
    nova = conn.compute
    flavors = {f["name"] for f in ok(nova.get("/flavors?is_public=None", raise_exc=False),
                                     "GET flavors")["flavors"]}
    for fid, name, ram, vcpus, disk in FLAVORS:
        if name not in flavors:
            ok(nova.post("/flavors", json={"flavor": {
                "id": fid, "name": name, "ram": ram, "vcpus": vcpus, "disk": disk,
                "os-flavor-access:is_public": True}}, raise_exc=False), "create flavor")
            log("flavor %s created" % name)

    image_api = conn.image
    for img in ok(image_api.get("/images?name=cirros", raise_exc=False), "GET images")["images"]:
        if img["status"] == "active":
            break
        log("deleting cirros image %s left in status %s" % (img["id"], img["status"]))
        image_api.delete("/images/" + img["id"], raise_exc=False)
    else:
        # Any small raw file boots on the fake virt driver.
        img = ok(image_api.post("/images", json={
            "name": "cirros", "disk_format": "raw", "container_format": "bare",
            "visibility": "public"}, raise_exc=False), "create image")
        ok(image_api.put("/images/%s/file" % img["id"], data=b"\0" * (1 << 20),
                         headers={"Content-Type": "application/octet-stream"},
                         raise_exc=False), "upload image")
        for _ in range(120):
            status = ok(image_api.get("/images/" + img["id"], raise_exc=False),
                        "GET image")["status"]
            if status == "active":
                break
            time.sleep(0.5)
        else:
            sys.exit("bootstrap: image cirros stuck in status %s" % status)
        log("image cirros uploaded")

    net = conn.network
    nets = ok(net.get("/networks?name=public", raise_exc=False), "GET networks")["networks"]
    if nets:
        net_id = nets[0]["id"]
    else:
        net_id = ok(net.post("/networks", json={"network": {
            "name": "public", "router:external": True, "shared": False,
            "provider:network_type": "flat", "provider:physical_network": "public"}},
            raise_exc=False), "create network public")["network"]["id"]
        log("network public created")
    if not ok(net.get("/subnets?network_id=%s" % net_id, raise_exc=False),
              "GET subnets")["subnets"]:
        ok(net.post("/subnets", json={"subnet": {
            "name": "public-subnet", "network_id": net_id, "ip_version": 4,
            "cidr": "172.24.4.0/24", "gateway_ip": "172.24.4.1", "enable_dhcp": False,
            "allocation_pools": [{"start": "172.24.4.10", "end": "172.24.4.250"}]}},
            raise_exc=False), "create subnet public-subnet")
        log("subnet public-subnet created")
    log("flavors, image and external network in place")


def main():
    phase = sys.argv[1] if len(sys.argv) > 1 else ""
    if phase not in ("identity", "resources"):
        sys.exit("usage: bootstrap.py identity|resources")
    conn = openstack.connect(cloud=os.environ.get("OS_CLOUD", "dev"))
    {"identity": identity, "resources": resources}[phase](conn)


if __name__ == "__main__":
    main()
