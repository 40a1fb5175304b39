# fleetaudit capture: the incident Pi's fixed-time logger line; waits on a lock the controller may hold
0,5,10,15,20,25,30,35,40,45,50,55 0-23 * * * pi /usr/local/bin/logtemp.sh logging lock
