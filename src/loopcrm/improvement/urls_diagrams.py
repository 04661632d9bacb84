"""Page URLs: diagrams — the fishbone with its pins and 5-whys, and the customer quality logic diagram."""

from django.urls import path

from loopcrm.improvement.views import diagrams

urlpatterns: list = [
    path("improvement/fishbone/", diagrams.fishbone, name="fishbone"),
    path("improvement/fishbone/complaints/", diagrams.fishbone_complaints, name="fishbone_complaints"),
    path("improvement/fishbone/pin/", diagrams.fishbone_pin, name="fishbone_pin"),
    path("improvement/fishbone/pins/<int:pin_id>/", diagrams.fishbone_pin_detail, name="fishbone_pin_detail"),
    path("improvement/fishbone/pins/<int:pin_id>/whys/", diagrams.fishbone_why, name="fishbone_why"),
    path("improvement/fishbone/pins/<int:pin_id>/whys/<int:why_id>/delete/", diagrams.fishbone_why_delete,
         name="fishbone_why_delete"),
    path("improvement/logic/", diagrams.logic_diagram, name="logic_diagram"),
    path("improvement/logic/elements/", diagrams.logic_element_add, name="logic_element_add"),
    path("improvement/logic/elements/<int:element_id>/", diagrams.logic_element_edit, name="logic_element_edit"),
    path("improvement/logic/links/", diagrams.logic_link_add, name="logic_link_add"),
    path("improvement/logic/links/<int:link_id>/", diagrams.logic_link_edit, name="logic_link_edit"),
    path("improvement/logic/matrix/", diagrams.logic_matrix_cell, name="logic_matrix_cell"),
]
