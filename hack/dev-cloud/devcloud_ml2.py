"""ML2 mechanism driver for hack/dev-cloud: binds every port to its first segment.

The dev cloud runs no L2 agent, so no stock mechanism driver would bind a port and
servers on Neutron networks would end in ERROR (binding_failed). up.sh copies this file
next to a *.dist-info entry point (group neutron.ml2.mechanism_drivers, name devcloud)
on neutron-server's PYTHONPATH.
"""
from neutron_lib import constants
from neutron_lib.api.definitions import portbindings
from neutron_lib.plugins.ml2 import api


class BindEverythingDriver(api.MechanismDriver):
    def initialize(self):
        pass

    def bind_port(self, context):
        for segment in context.segments_to_bind:
            context.set_binding(segment[api.ID], portbindings.VIF_TYPE_OVS,
                                {portbindings.CAP_PORT_FILTER: False},
                                status=constants.PORT_STATUS_ACTIVE)
            return
