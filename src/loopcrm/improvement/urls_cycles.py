"""Page URLs: PDCA cycles and the lessons library."""

from django.urls import path

from loopcrm.improvement.views import cycles

urlpatterns: list = [
    path("improvement/cycles/", cycles.cycle_board, name="cycle_board"),
    path("improvement/cycles/new/", cycles.cycle_new, name="cycle_new"),
    path("improvement/cycles/<int:cycle_id>/", cycles.cycle_detail, name="cycle_detail"),
    path("improvement/cycles/<int:cycle_id>/edit/", cycles.cycle_edit, name="cycle_edit"),
    path("improvement/cycles/<int:cycle_id>/phase/", cycles.cycle_move, name="cycle_move"),
    path("improvement/cycles/<int:cycle_id>/actions/", cycles.cycle_action_add, name="cycle_action_add"),
    path("improvement/cycles/<int:cycle_id>/actions/<int:action_id>/", cycles.cycle_action_update,
         name="cycle_action_update"),
    path("improvement/cycles/<int:cycle_id>/check/", cycles.cycle_check, name="cycle_check"),
    path("improvement/cycles/<int:cycle_id>/act/", cycles.cycle_act, name="cycle_act"),
    path("improvement/lessons/", cycles.lesson_library, name="lesson_library"),
]
